"""Settings: a user's own API tokens (create with a name and scopes, list, revoke). A key is shown once."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from triage.models import ApiToken
from triage.permissions import can_triage
from triage.tokens import create_token


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="what uses it: “kernelci-bot on lab-3”")
    scopes = forms.MultipleChoiceField(choices=ApiToken.Scope.choices, widget=forms.CheckboxSelectMultiple,
                                       initial=[ApiToken.Scope.UPLOAD, ApiToken.Scope.READ])


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        token, new_key = create_token(request.user, form.cleaned_data["name"], form.cleaned_data["scopes"])
        form = TokenForm()
    return render(request, "tokens.html", {
        "form": form, "new_key": new_key, "tokens": request.user.api_tokens.all(),
        "can_triage": can_triage(request.user),
    }, status=400 if form.errors else 200)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)  # one's own tokens only
    token.delete()
    messages.info(request, f"Revoked “{token.name}”: requests with its key now get a 401.")
    return redirect("tokens")
