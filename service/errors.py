"""Exception classes shared by the intake service and the workers."""


class ConfigError(Exception):
    """The configuration (environment or sources file) cannot be used; the message says where."""


class PayloadError(Exception):
    """The request body cannot be decoded; the message says what is wrong with it."""


class VerificationError(Exception):
    """The sender could not be verified; the message is safe to return (never a secret)."""
