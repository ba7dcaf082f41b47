"""The server-rendered pages, for people with nothing but a browser: log in and out, register,
the user's own apps (`/profile/apps`), the apps they let in (`/profile/apps/connected`) and
the consent page (`/profile/apps/authorize`), at FitTrackee's own paths.

Plain HTML from one layout and one stylesheet; no script at all. The routes
(`app.api.routes.pages`, `app.api.routes.consent`) parse, check the session and CSRF, and
call the services; this package only renders.
"""
