"""Policy announcements (政策公告群发): audience, preview, confirmation, fan-out, progress, cancel.

Life of a broadcast (`BroadcastRow.status`):

    draft ─send─▶ pending_confirm ─confirm (another officer or admin)─▶ scheduled ─due─▶ fanout
      └─send, audience ≤ BROADCAST_CONFIRM_THRESHOLD─▶ scheduled (a time given) or fanout (now)
    fanout ─every recipient queued─▶ queued (shown as “done” once nothing is left to send)
    any of them ─cancel─▶ cancelled (the notices still pending are cancelled too)

- The audience is resolved when the fan-out runs (a scheduled broadcast reaches the people who
  are subscribed at that time). Opted-out people are always left out; so are unreachable
  addresses. A person gets one message: on Telegram or WeChat when they linked a verified chat
  (and that channel is among the chosen ones; Telegram first), else by SMS to the number on file.
- Fan-out writes one outbox row per recipient with the key ``broadcast:<id>:<identity id>`` in
  batches, each in its own transaction (the outbox's ON CONFLICT (key) DO NOTHING insert, done as
  INSERT … SELECT from a staging table for speed). A fan-out that dies half way is resumed from
  the start (`claim_due` takes over a fan-out that stopped moving) and only inserts what is
  missing, so nobody is queued twice; the dispatcher sends broadcasts at most once and at each
  channel's rate limit. A number on file without an SMS identity gets one first (linked to its
  person, as the dialogue engine does for a number that writes in: on SMS the number is the proof).
- Progress is counted from the notices' statuses; cancelling cancels the notices still pending
  (the few already handed to a sender go out).

SMS specifics (signature, unsubscribe hint, segment count, price) are not known to `core`: the
composition root passes an `SmsCost` built from `sms.templates` and `sms.segments`.
"""
