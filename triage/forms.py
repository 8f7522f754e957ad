from __future__ import annotations

from django import forms


class LogUploadForm(forms.Form):
    file = forms.FileField(label="Console log")
    tree = forms.CharField(required=False)
    branch = forms.CharField(required=False)
    commit = forms.CharField(required=False)
    config = forms.CharField(required=False)
    arch = forms.CharField(required=False)
    test = forms.CharField(required=False, label="Test case")
    machine = forms.CharField(required=False)
    run_id = forms.CharField(required=False, label="Run id")
