"""`GET /api/config`: FitTrackee 1.3's configuration document, for the OpenAPI document."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ElevationServices(BaseModel):
    open_elevation: bool = Field(description="Always false: no workouts here.")
    valhalla: bool = Field(description="Always false: no workouts here.")


class ServerIdentity(BaseModel):
    name: str = Field(description="This server's name: `fittrackee-oauth2-server`.")
    version: str = Field(description="This server's own version (not FitTrackee's).")


class InstanceConfig(BaseModel):
    """FitTrackee 1.3's fields, with what is true of this server; FitTrackee's defaults for
    the workout limits, which apply to nothing here."""

    about: str | None = Field(description="The instance's about text (`ABOUT`).")
    admin_contact: str | None = Field(description="The administrator's e-mail (`ADMIN_CONTACT`).")
    elevation_services: ElevationServices
    file_limit_import: int = Field(description="FitTrackee's default; no uploads here.")
    file_sync_limit_import: int = Field(description="FitTrackee's default; no uploads here.")
    global_map_workouts_limit: int = Field(description="FitTrackee's default; no maps here.")
    is_email_sending_enabled: bool = Field(description="Always false: this server sends none.")
    is_registration_enabled: bool = Field(
        description="Whether `POST /api/auth/register` creates accounts (`REGISTRATION_ENABLED`)."
    )
    map_attribution: str = Field(description="Empty: this server shows no map.")
    max_image_size: int = Field(description="FitTrackee's default (bytes); no uploads here.")
    max_single_file_size: int = Field(description="FitTrackee's default (bytes); no uploads.")
    max_users: int = Field(description="0: no limit on accounts, as in FitTrackee.")
    max_zip_file_size: int = Field(description="FitTrackee's default (bytes); no uploads here.")
    privacy_policy: str | None = Field(description="The privacy policy (`PRIVACY_POLICY`).")
    privacy_policy_date: str | None = Field(
        description=(
            "When it last changed (`PRIVACY_POLICY_DATE`), as FitTrackee writes dates "
            "(`Mon, 23 Dec 2024 19:00:00 GMT`); null without a policy."
        )
    )
    stats_workouts_limit: int = Field(description="FitTrackee's default; no statistics here.")
    version: str = Field(
        description=(
            "A compatibility value: the FitTrackee API version this server implements "
            "(`FITTRACKEE_API_VERSION`), which clients compare to decide whether they "
            "support the instance. Not this server's version (see `server`)."
        )
    )
    weather_provider: str | None = Field(description="Always null: no weather here.")
    server: ServerIdentity = Field(description="What actually answers: this server's identity.")


class InstanceConfigResponse(BaseModel):
    status: Literal["success"] = "success"
    data: InstanceConfig
