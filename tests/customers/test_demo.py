from customers.demo import ADA_CARD, seed_demo
from customers.models import ConsentEvent, Customer, Identifier


def test_demo_customers_are_created_once(merchant, store) -> None:
    first = seed_demo(merchant=merchant, store=store)
    second = seed_demo(merchant=merchant, store=store)
    assert first == second
    assert Customer.objects.count() == 2
    assert Identifier.objects.count() == 5
    assert ConsentEvent.objects.count() == 1
    assert any(ADA_CARD in line for line in first)
