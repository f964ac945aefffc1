"""The base of domain refusals shared by both services: a machine code and a human message."""


class CodedError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
