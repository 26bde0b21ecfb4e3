"""The far side of notify's channels in the benchmarks: the SMTP server in one process
and the HTTP gateways (SMS, WeChat, webhooks) in another, as a mail server and the
gateways are remote machines of their own in a deployment.

Each is a development sink (``services.devsink``, ``tests.support.sink.Sink``); one
sink serving both runs them on one interpreter lock, and its SMTP server (which reads
every mail it takes) then caps what the gateways take too. ``SplitSinks`` gives the
addresses notify is aimed at, the sinks' processes (their CPU is counted apart, as a
remote server's would not be ours), and what the two received, read a part at a time.

    with SplitSinks(work) as sinks:
        env = sinks.channels
        ...
        messages, duplicates, marks = sinks.messages_after((0, 0))
"""
from tests.support.sink import Sink


class SplitSinks:
    def __init__(self, work):
        self.mail = Sink.start(work / "devsink-mail.log")
        try:
            self.gateways = Sink.start(work / "devsink-gateways.log")
        except Exception:
            self.mail.stop()
            raise
        self.parts = (self.mail, self.gateways)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def stop(self):
        for sink in self.parts:
            sink.stop()

    @property
    def channels(self):
        """notify's settings aiming email at the mail sink and SMS and WeChat at the gateways."""
        return {"ZD_SMTP_URL": self.mail.smtp_url, "ZD_SMS_GATEWAY_URL": self.gateways.sms_url,
                "ZD_WECHAT_GATEWAY_URL": self.gateways.wechat_url}

    @property
    def pids(self):
        return [sink.process.pid for sink in self.parts]

    def webhook_url(self, name):
        return self.gateways.webhook_url(name)

    def messages_after(self, marks):
        """``(messages, duplicates, marks)``: each sink's messages newer than its mark in
        ``marks`` (a tuple, one id per sink; ``(0, 0)`` for all), the duplicates both
        refused so far, and the marks to give next time."""
        messages, duplicates, new_marks = [], 0, []
        for sink, after in zip(self.parts, marks, strict=True):
            received, refused = sink.messages_after(after)
            messages += received
            duplicates += refused
            new_marks.append(received[-1]["id"] if received else after)
        return messages, duplicates, tuple(new_marks)

    def view(self):
        """Every message both sinks hold and the keys they refused as duplicates."""
        views = [sink._view() for sink in self.parts]
        return {"messages": [message for view in views for message in view["messages"]],
                "duplicates": [key for view in views for key in view["duplicates"]]}
