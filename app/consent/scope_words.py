"""What each FitTrackee scope lets an app do, in the words the consent page shows the user.

Every scope of `app.oauth.scopes.SCOPES` has its words here (a test checks it)."""

from __future__ import annotations

SCOPE_WORDS: dict[str, str] = {
    "application:write": "Change this FitTrackee instance's settings (administrators only)",
    "profile:read": "Read your profile",
    "profile:write": "Change your profile and account preferences",
    "users:read": "See other users' profiles",
    "users:write": "Manage users (administrators only)",
    "workouts:read": "Read your workouts, their records and statistics",
    "workouts:write": "Add, change and delete your workouts",
}


def scope_words(scope: str) -> list[tuple[str, str]]:
    """(scope, plain words) for each scope of a space-separated, canonical scope string."""
    return [(item, SCOPE_WORDS.get(item, item)) for item in scope.split()]
