"""One exception type per user mistake, shown as one line at the CLI/app edge."""


class LensError(Exception):
    """A problem the user can fix; its message is the whole story, no traceback."""


class InputFileError(LensError):
    """An input file is missing, unreadable or of an unknown layout."""


class ConfigError(LensError):
    """lens.toml, the identity file or a flag is wrong."""


class SourceError(LensError):
    """A remote source (Phoenix, Arize) is down, refuses us, or answers nonsense."""
