from __future__ import annotations

from django.urls import path

from . import views

app_name = "demo"

urlpatterns = [
    path("", views.index, name="index"),
    path("demo/start/", views.start, name="start"),
    path("demo/callback/", views.callback, name="callback"),
    path("api/payment/", views.PaymentView.as_view(), name="payment"),
]
