"""Which publish failures make the outbox relay replace its producer."""

from __future__ import annotations

from aiokafka import errors as kafka_errors

from sanad.shared.outbox import OutboxPublishError, producer_broken


def _raised_from(cause: BaseException) -> OutboxPublishError:
    try:
        raise OutboxPublishError("outbox row 811 could not be published") from cause
    except OutboxPublishError as exc:
        return exc


def test_a_sequence_the_broker_no_longer_accepts_means_a_new_producer() -> None:
    for broken in (
        kafka_errors.OutOfOrderSequenceNumber(),
        kafka_errors.UnknownProducerId(),
        kafka_errors.DuplicateSequenceNumber(),
    ):
        assert producer_broken(_raised_from(broken))


def test_kafka_being_away_or_a_bad_row_keeps_the_producer() -> None:
    for other in (
        kafka_errors.KafkaConnectionError(),
        kafka_errors.KafkaTimeoutError(),
        kafka_errors.MessageSizeTooLargeError(),
        ValueError("unknown topic"),
    ):
        assert not producer_broken(_raised_from(other))
