"""The weekly digest e-mail: building, rendering (MJML) and sending.

Reserved by the design's layout; the digest itself is built in its own
issue (see the README's roadmap).
"""
