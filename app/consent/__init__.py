"""The consent page at `/profile/apps/authorize`: where a third-party app sends the user's
browser to approve it (RFC 6749 §4.1.1), without FitTrackee's web client.

Plain HTML rendered here, one static script and one stylesheet; the engine
(`app.oauth.authorize`) decides everything, the route (`app.api.routes.consent`) only parses
the query and sends the page.
"""
