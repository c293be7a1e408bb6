"""Events leave Rackroom here: the relay reads the outbox (`models.events`) in order and
hands each event to webhook deliveries, RabbitMQ, the alert engine and open screens.

- `relay`: the one reader of the outbox that decides order (a gap-free horizon), fans
  events out to webhook deliveries and NOTIFYs live screens; the other readers follow it.
- `delivery`: sends deliveries per Standard Webhooks, claiming them with
  `FOR UPDATE SKIP LOCKED` so several `python -m jobs` processes share the work.
- `amqp`: publishes to RabbitMQ with publisher confirms (`RACKROOM_AMQP_URL`).
- `alerts`: re-checks alerts for the variants of new `stock.changed` events.
- `service`: the threads that run all of it beside the scheduler.
"""
