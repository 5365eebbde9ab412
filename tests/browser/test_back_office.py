"""The back office signs in to the Django admin in a real browser."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_signs_in_to_the_back_office(live_server, page: Page) -> None:
    get_user_model().objects.create_superuser("backoffice", "bo@example.com", "s3cret-pass!")
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "backoffice")
    page.fill("#id_password", "s3cret-pass!")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    assert "Kassa back office" in page.inner_text("#site-name")
    assert page.locator("a[href='/admin/merchants/apikey/']").first.is_visible()


def test_home_page_links_to_the_api_docs(live_server, page: Page) -> None:
    page.goto(live_server.url)
    page.click("text=API documentation")
    page.wait_for_selector(".swagger-ui")
    assert page.url.endswith("/api/docs/")
