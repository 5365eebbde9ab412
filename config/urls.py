from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from config import views

api_v1 = [
    path("", include("merchants.api.urls")),
    path("", include("customers.api.urls")),
    path("", include("wallet.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("insights.api.urls")),
    path("", include("tills.api.urls")),
    path("", include("reconciliation.api.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("portal/", include("portal.urls")),
    path("api/v1/", include(api_v1)),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[AllowAny]),
        name="schema",
    ),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(
            url_name="schema", authentication_classes=[], permission_classes=[AllowAny]
        ),
        name="api-docs",
    ),
    re_path(r"^api/", views.not_found),
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.not_found"
handler500 = "config.views.server_error"

admin.site.site_header = "Kassa back office"
admin.site.site_title = "Kassa"
