"""Delivery of notifications: what a message looks like on the way out, how it is rendered in
the recipient's language, when it may go out, and the channels that carry it.

Pure where it can be: nothing here reads the clock or decides *whether* to notify. The
notifications application decides and records; this package renders and sends, and reports
an outcome the application records in turn.
"""
