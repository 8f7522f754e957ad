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
    parent = forms.CharField(required=False, label="Parent commit",
                             help_text="the commit this one is based on; else the previous one of the branch")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data]
        return [super().clean(data, initial)] if data else []


class BuildUploadForm(forms.Form):
    vmlinux = forms.FileField(required=False, help_text="with DWARF; may be .xz, .gz or .zst compressed")
    modules = MultipleFileField(required=False, widget=MultipleFileInput(),
                                help_text=".ko files (or .ko.xz ...) or a tarball of a modules folder")
    tree = forms.CharField(required=False)
    branch = forms.CharField(required=False)
    commit = forms.CharField(required=False)
    config = forms.CharField(required=False)


class SubscriptionForm(forms.ModelForm):
    class Meta:
        from triage.models import Subscription

        model = Subscription
        fields = ["name", "tree", "branch", "config", "arch", "test", "subsystem", "frequency", "clusters"]
        labels = {"clusters": "Also new crash clusters"}
        help_texts = {"subsystem": "a MAINTAINERS section: regressions and clusters with crashes in it"}

    SUGGESTED = ("tree", "branch", "config", "arch", "test", "subsystem")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in self.SUGGESTED:  # the page draws a <datalist> of known values for each
            self.fields[name].widget.attrs["list"] = f"known-{name}"

    def clean_subsystem(self) -> str:
        """A section the app knows, spelt as MAINTAINERS spells it: a typo would match nothing, silently."""
        from triage.subsystems import section_names

        value = self.cleaned_data["subsystem"].strip()
        if not value:
            return ""
        known = section_names()
        if not known:  # no MAINTAINERS and no crash filed under one yet: nothing to check against
            return value
        by_case = {name.casefold(): name for name in known}
        if value.casefold() not in by_case:
            raise forms.ValidationError(f"No MAINTAINERS section is named “{value}”; pick one the list offers.")
        return by_case[value.casefold()]
