"""Delivery of public events: outbox relay and consumers on RabbitMQ, or in-process."""
