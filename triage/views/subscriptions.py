"""Digest subscriptions: a person's settings page, and unsubscribing from an email without logging in."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from triage import listing
from triage.digest import subscription_from_token
from triage.forms import SubscriptionForm
from triage.models import Job, Log, Subscription
from triage.subsystems import section_names


@login_required
def subscriptions(request: HttpRequest) -> HttpResponse:
    form = SubscriptionForm(request.POST if request.method == "POST" and "frequency" in request.POST else None)
    if request.method == "POST" and "email" in request.POST:
        address = request.POST["email"].strip()
        try:
            validate_email(address)
        except ValidationError:
            messages.error(request, "That is not an email address.")
        else:
            request.user.email = address
            request.user.save(update_fields=["email"])
            messages.info(request, "Digests go to " + address + " now.")
        return redirect("subscriptions")
    if form.is_bound and form.is_valid():
        subscription = form.save(commit=False)
        subscription.user = request.user
        subscription.save()
        messages.info(request, "Subscribed.")
        return redirect("subscriptions")
    return render(request, "subscriptions.html", {
        "form": form, "subscriptions": request.user.subscriptions.order_by("-created"), "known": known_values()},
        status=400 if form.errors else 200)


def known_values() -> dict[str, list[str]]:
    """Suggestions for the form's filters: the jobs' values and the subsystems crashes were filed under."""
    known = {f: listing.known_values(Job, f) for f in Log.JOB}
    known["subsystem"] = listing.cached("choices:subsystem-sections", section_names)
    return known


@login_required
@require_POST
def subscription_delete(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(Subscription, pk=pk, user=request.user).delete()
    messages.info(request, "Subscription deleted.")
    return redirect("subscriptions")


@login_required
@require_POST
def subscription_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(Subscription, pk=pk, user=request.user)
    subscription.active = not subscription.active
    subscription.save(update_fields=["active"])
    return redirect("subscriptions")


@csrf_exempt  # RFC 8058 one-click: the mail client POSTs here without a session or a form of ours
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks (link scanners follow links), POST unsubscribes; the signed token is the only key."""
    subscription = subscription_from_token(token)
    if subscription is None:
        return render(request, "unsubscribe.html", {"invalid": True}, status=404)
    if request.method == "POST":
        subscription.active = False
        subscription.save(update_fields=["active"])
        return render(request, "unsubscribe.html", {"subscription": subscription, "done": True})
    return render(request, "unsubscribe.html", {"subscription": subscription})
