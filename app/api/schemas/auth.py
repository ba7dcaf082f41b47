"""Account requests and responses (FitTrackee 0.7 shapes)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from app.accounts.profile import UserProfile
from app.api.formats import http_date
from app.plain_text import check_multiline, check_single_line

# Text fields refuse control and format characters (`app.plain_text`): 400 `invalid payload`.
# Passwords are not text anyone reads, and are only ever hashed: they are left as sent.
Line = Annotated[str, AfterValidator(check_single_line)]
Lines = Annotated[str, AfterValidator(check_multiline)]

# Field limits here only stop absurd inputs early (400 `invalid payload`); the rules with
# FitTrackee's messages live in `app.accounts.service.registration_problems`.


class RegisterRequest(BaseModel):
    """Unknown members (FitTrackee's `language`, `timezone`, `password_conf`) are ignored."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "alice",
                    "email": "alice@example.com",
                    "password": "CapPassw0rd!",
                    "accepted_policy": True,
                }
            ]
        }
    )

    username: Line = Field(
        max_length=1000, description='3 to 30 characters: letters, digits and "_"'
    )
    email: Line = Field(max_length=1000, description="A valid e-mail address, unique")
    password: str = Field(max_length=4096, description="8 to 1024 characters")
    accepted_policy: StrictBool = Field(description="Must be `true` to register")


class LoginRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"email": "alice@example.com", "password": "CapPassw0rd!"}]}
    )

    email: Line = Field(max_length=1000)
    password: str = Field(max_length=4096)


class ProfileEditRequest(BaseModel):
    """FitTrackee's editable profile fields; a field left out keeps its value."""

    first_name: Line | None = Field(default=None, max_length=80)
    last_name: Line | None = Field(default=None, max_length=80)
    bio: Lines | None = Field(default=None, max_length=200)
    location: Line | None = Field(default=None, max_length=80)


class StatusOnly(BaseModel):
    status: str = "success"


class LoginResponse(BaseModel):
    auth_token: str = Field(description="HS256 JWT; send it as `Authorization: Bearer <token>`")
    message: str = "successfully logged in"
    status: str = "success"


class LogoutResponse(BaseModel):
    message: str = "successfully logged out"
    status: str = "success"


class Profile(BaseModel):
    username: str
    email: str
    created_at: str
    is_active: bool
    admin: bool
    accepted_privacy_policy: bool
    first_name: str | None
    last_name: str | None
    bio: str | None
    location: str | None
    birth_date: str | None
    email_to_confirm: str | None
    language: str | None
    timezone: str
    date_format: str
    weekm: bool
    imperial_units: bool
    display_ascent: bool
    start_elevation_at_zero: bool
    use_raw_gpx_speed: bool
    picture: bool
    nb_sports: int
    nb_workouts: int
    records: list[Any]
    sports_list: list[Any]
    total_ascent: float
    total_distance: float
    total_duration: str


class ProfileResponse(BaseModel):
    data: Profile
    status: str = "success"


class ProfileEditResponse(ProfileResponse):
    message: str = "user profile updated"


def profile_json(user: UserProfile) -> dict[str, Any]:
    """The profile as FitTrackee's web client expects it; workout fields are empty here."""
    return {
        "accepted_privacy_policy": user.accepted_policy_at is not None,
        "admin": False,
        "bio": user.bio,
        "birth_date": None,
        "created_at": http_date(user.created_at),
        "date_format": "MM/dd/yyyy",
        "display_ascent": True,
        "email": user.email,
        "email_to_confirm": None,
        "first_name": user.first_name,
        "imperial_units": False,
        "is_active": user.is_active,
        "language": None,
        "last_name": user.last_name,
        "location": user.location,
        "nb_sports": 0,
        "nb_workouts": 0,
        "picture": False,
        "records": [],
        "sports_list": [],
        "start_elevation_at_zero": True,
        "timezone": "Europe/Paris",
        "total_ascent": 0.0,
        "total_distance": 0.0,
        "total_duration": "0:00:00",
        "use_raw_gpx_speed": False,
        "username": user.username,
        "weekm": False,
    }
