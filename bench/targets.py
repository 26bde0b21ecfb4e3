"""The issue's targets for ``make bench`` and this run's figure next to each, from the
results: notify's messages a second, its backlog after the phase at ``TARGET_RATE``
with every reporter asking for feedback, machine CPU per concern without the sinks,
concerns a second in the closed loop, the latencies at ``TARGET_RATE``, the ratios to
both floors, and what was lost or duplicated. Figures only: nothing passes or fails
here. Arithmetic only."""

TARGET_RATE = 50.0  # concerns a second offered, where most targets are set


def _phase(phases, offered, feedback=None):
    """The base part's phase at ``offered`` (None: the closed loop), with every reporter
    asking for feedback when ``feedback``; None when it did not run."""
    return next((phase for phase in phases if phase["part"] == "base" and phase["offered_per_s"] == offered
                 and (not feedback or phase.get("feedback_share") == 1.0)), None)


def _get(phase, *path):
    value = phase
    for key in path:
        if value is None:
            return None
        value = value.get(key)
    return value


def targets(results):
    """``[{"target", "wanted", "figure", "unit", "phase"}]``: each target and this run's
    figure for it (None when the phase it needs did not run)."""
    phases = results["phases"]
    at_rate, closed = _phase(phases, TARGET_RATE, feedback=True), _phase(phases, None)
    busiest = max(phases, key=lambda phase: _get(phase, "messages_delivered", "all", "per_s") or 0,
                  default=None)
    result_to_sms = _get(at_rate, "result_to_sms_ms", "p99")

    def row(target, wanted, figure, unit, phase):
        return {"target": target, "wanted": wanted, "figure": figure, "unit": unit,
                "phase": phase["phase"] if phase else None}

    def lost(key):
        return sum(_get(phase, "messages", key) or 0 for phase in phases)

    return [
        row("messages delivered to the local sinks", "≥ 300",
            _get(busiest, "messages_delivered", "all", "per_s"), "/s", busiest),
        row(f"backlog empty after the {TARGET_RATE:g}/s phase (every reporter asking for feedback)", "≤ 10",
            _get(at_rate, "backlog_empty_after_s"), "s", at_rate),
        row(f"machine CPU per concern, sinks excluded, at {TARGET_RATE:g}/s", "≤ 15",
            _get(at_rate, "cpu_ms_per_concern", "machine_without_sinks"), "ms", at_rate),
        row(f"... the same, counted process by process (others' work left out), at {TARGET_RATE:g}/s", "≤ 15",
            _get(at_rate, "cpu_ms_per_concern", "processes_without_sinks"), "ms", at_rate),
        row("concerns delivered to department queues, closed loop, six districts", "≥ 140",
            _get(closed, "delivered_per_s"), "/s", closed),
        row(f"POST→department p99 at {TARGET_RATE:g}/s", "< 250", _get(at_rate, "post_to_queue_ms", "p99"),
            "ms", at_rate),
        row(f"department result → reporter's SMS p99 at {TARGET_RATE:g}/s", "< 1000", result_to_sms,
            "ms", at_rate),
        row("best delivered/s over the floor (a message at a time)", "reported",
            results.get("ratio_to_floor"), "", None),
        row("best delivered/s over the batched floor", "reported", results.get("ratio_to_batched_floor"),
            "", None),
        row("concerns lost (accepted, never at their department)", "0",
            sum(phase["not_delivered"] for phase in phases), "", None),
        row("concerns duplicated (at their department twice)", "0",
            sum(phase["duplicates"] for phase in phases), "", None),
        row("messages lost (sent, never at the sink; or failed)", "0",
            lost("lost") + lost("failed"), "", None),
        row("messages left pending at the end of their phase", "0", lost("pending"), "", None),
        row("messages duplicated (refused by the sink as sent already)", "0",
            sum(phase.get("message_duplicates", 0) for phase in phases), "", None),
    ]
