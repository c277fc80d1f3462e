from tests.conftest import Town


def test_worker_sees_own_person(town: Town, east_client) -> None:  # type: ignore[no-untyped-def]
    response = east_client.get(f"/people/{town.east_person.pk}/")
    assert response.status_code == 200
    assert "张*明" in response.content.decode()
    assert east_client.get(f"/people/{town.west_person.pk}/").status_code == 404
