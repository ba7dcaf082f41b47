"""`GET /api/config`: FitTrackee's configuration endpoint, which clients call before anything
else: FitTrackee's web client shows only an error page without it, and third-party apps
compare its `version` with the oldest FitTrackee they support."""

from __future__ import annotations

from email.utils import format_datetime
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from app import __version__
from app.api.deps import services
from app.api.responses import JSON
from app.api.schemas.instance_config import InstanceConfigResponse
from app.config import Settings

router = APIRouter(tags=["operations"])

SERVER_NAME = "fittrackee-oauth2-server"
# FitTrackee's defaults (1.3) for limits on workouts and uploads, which this server does not
# serve: a client that reads them gets the values it would get from a fresh FitTrackee.
FITTRACKEE_DEFAULT_LIMITS = {
    "file_limit_import": 10,
    "file_sync_limit_import": 10,
    "global_map_workouts_limit": 10000,
    "max_image_size": 5 * 1024 * 1024,
    "max_single_file_size": 1024 * 1024,
    "max_zip_file_size": 10 * 1024 * 1024,
    "stats_workouts_limit": 10000,
}


def instance_config(settings: Settings) -> dict[str, Any]:
    """The `data` member: FitTrackee 1.3's fields, in its order, then `server`."""
    policy_date = settings.privacy_policy_date if settings.privacy_policy else None
    return {
        "about": settings.about,
        "admin_contact": settings.admin_contact,
        "elevation_services": {"open_elevation": False, "valhalla": False},
        "file_limit_import": FITTRACKEE_DEFAULT_LIMITS["file_limit_import"],
        "file_sync_limit_import": FITTRACKEE_DEFAULT_LIMITS["file_sync_limit_import"],
        "global_map_workouts_limit": FITTRACKEE_DEFAULT_LIMITS["global_map_workouts_limit"],
        "is_email_sending_enabled": False,
        "is_registration_enabled": settings.registration_enabled,
        "map_attribution": "",
        "max_image_size": FITTRACKEE_DEFAULT_LIMITS["max_image_size"],
        "max_single_file_size": FITTRACKEE_DEFAULT_LIMITS["max_single_file_size"],
        "max_users": 0,
        "max_zip_file_size": FITTRACKEE_DEFAULT_LIMITS["max_zip_file_size"],
        "privacy_policy": settings.privacy_policy,
        # FitTrackee's dates are RFC 7231 HTTP-dates (its JSON encoder's), always in GMT.
        "privacy_policy_date": format_datetime(policy_date, usegmt=True) if policy_date else None,
        "stats_workouts_limit": FITTRACKEE_DEFAULT_LIMITS["stats_workouts_limit"],
        "version": settings.fittrackee_api_version,
        "weather_provider": None,
        "server": {"name": SERVER_NAME, "version": __version__},
    }


@router.get(
    "/api/config",
    response_model=InstanceConfigResponse,
    summary="The instance's configuration (FitTrackee's; no authentication)",
)
async def get_instance_config(request: Request) -> Response:
    """FitTrackee 1.3's shape. `version` is a compatibility value, the FitTrackee API version
    this server implements (`FITTRACKEE_API_VERSION`); `server` names what really answers."""
    data = instance_config(services(request).settings)
    return JSON({"status": "success", "data": data})
