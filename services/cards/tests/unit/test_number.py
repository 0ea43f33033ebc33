import itertools
import random

from sanad.cards.domain.number import grouped, is_card_number, luhn_check_digit, new_card_number
from sanad.shared.national_id import luhn_valid


def test_a_card_number_is_16_digits_with_a_luhn_check_digit() -> None:
    for _ in range(1000):
        number = new_card_number()
        assert len(number) == 16 and number.isdigit() and number[0] != "0"
        assert luhn_valid(number)
        assert is_card_number(number)


def test_numbers_are_random_and_do_not_repeat_over_many_draws() -> None:
    numbers = [new_card_number() for _ in range(20_000)]
    assert len(set(numbers)) == len(numbers)
    # Not sequential: consecutive draws are far apart, and every position takes every digit.
    assert sum(abs(int(a) - int(b)) < 10**6 for a, b in itertools.pairwise(numbers)) == 0
    for position in range(1, 15):
        assert {n[position] for n in numbers} == set("0123456789")


def test_the_check_digit_catches_a_changed_digit_or_a_swap() -> None:
    number = new_card_number(random.Random(7).randrange)
    changed = number[:5] + str((int(number[5]) + 1) % 10) + number[6:]
    assert not is_card_number(changed)
    assert not is_card_number(number[:15])
    assert not is_card_number("٠" * 16)  # Arabic-Indic digits are not card digits
    assert luhn_check_digit("7992739871") == "3"  # the textbook example


def test_grouped_for_printing() -> None:
    assert grouped("1234567890123456") == "1234 5678 9012 3456"
