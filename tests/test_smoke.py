from rest_framework.test import APIClient


def test_features__created_through_api__listed(api: APIClient) -> None:
    response = api.post("/api/v1/features", {"key": "k", "name": "K"})
    assert response.status_code == 201, response.json()
    assert api.get("/api/v1/features").json()["count"] == 1
