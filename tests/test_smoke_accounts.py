from tests.helpers import bearer, user_token


async def test_register_login_profile(client):
    token = await user_token(client)
    response = await client.get("/api/auth/profile", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["username"] == "alice"
