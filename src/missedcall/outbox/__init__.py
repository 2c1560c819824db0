"""The outbox: every mail decided is kept until delivered (SPEC §9).

- :mod:`.mail`: what the renderer hands over (:class:`OutgoingMail`).
- :mod:`.store`: the SQLite table and its states (:class:`Outbox`).
- :mod:`.commit`: group commit, one fsync for many writers (:class:`GroupCommitter`).
- :mod:`.smtp`: one mail offered to the SMTP server, the outcome classified (:class:`SmtpDelivery`).
- :mod:`.runner`: the loop that claims, sends and settles (:class:`DeliveryRunner`).

Wiring, in the composition root::

    outbox = Outbox(connection)
    committer = GroupCommitter(outbox)
    delivery = SmtpDelivery(config.smtp)
    runner = DeliveryRunner(outbox, delivery, time.time, committer=committer)
    ...
    await committer.enqueue(mails, config.notify.dispatch, time.time())
    runner.wake()
    ...
    await runner.run_until(stop)
    await delivery.close()

Nothing is imported here, so that the renderer can import :mod:`.mail` alone
(without asyncio, SQLite or SMTP).
"""
