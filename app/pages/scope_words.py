"""What each FitTrackee scope lets an app do, in the words the consent page and the API docs
show the user.

Every scope of `app.oauth.scopes.FITTRACKEE_SCOPES` has its words here (a test checks it),
whichever catalogue an instance offers."""

from __future__ import annotations

from app.oauth.scopes import ScopeCatalogue

SCOPE_WORDS: dict[str, str] = {
    "application:write": "Change this FitTrackee instance's settings (administrators only)",
    "profile:read": "Read your profile",
    "profile:write": "Change your profile and account preferences",
    "users:read": "See other users' profiles",
    "users:write": "Manage users (administrators only)",
    "workouts:read": "Read your workouts, their records and statistics",
    "workouts:write": "Add, change and delete your workouts",
    "equipments:read": "See your equipment (bikes, shoes...)",
    "equipments:write": "Add, change and delete your equipment",
    "follow:read": "See who follows you, who you follow and your follow requests",
    "follow:write": "Follow and unfollow people, and answer follow requests",
    "notifications:read": "Read your notifications",
    "notifications:write": "Mark your notifications as read or unread",
    "reports:read": "See your moderation reports (all of them, for moderators)",
    "reports:write": "Report users, workouts and comments to the moderators",
    "geocode:read": "Look places up by name (geocoding)",
    "media:write": "Upload images (workout attachments)",
}


def scope_words(scope: str) -> list[tuple[str, str]]:
    """(scope, plain words) for each scope of a space-separated, canonical scope string."""
    return [(item, SCOPE_WORDS.get(item, item)) for item in scope.split()]


def catalogue_words(scopes: ScopeCatalogue) -> dict[str, str]:
    """{scope: plain words} for every scope of `scopes`, in catalogue order (the OpenAPI
    document's OAuth2 scheme lists them)."""
    return {scope: SCOPE_WORDS.get(scope, scope) for scope in scopes.scopes}
