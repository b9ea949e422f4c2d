"""pyftpdlib server process for the tests (run as a script): one user, optional FTPS.

Unlike `python -m pyftpdlib` it answers a wrong password at once (pyftpdlib waits 3 s by
default, which would slow every authentication test) and takes the password from the
environment rather than the command line.
"""

from __future__ import annotations

import argparse
import logging
import os

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
from pyftpdlib.log import config_logging
from pyftpdlib.servers import FTPServer

FULL_PERMISSIONS = "elradfmwMT"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password-variable", required=True, help="environment variable")
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    options = parser.parse_args()

    authorizer = DummyAuthorizer()
    authorizer.add_user(
        options.username, os.environ[options.password_variable], options.root, perm=FULL_PERMISSIONS
    )
    handler: type[FTPHandler] = FTPHandler
    if options.certfile:
        handler = TLS_FTPHandler
        handler.certfile = options.certfile
        handler.keyfile = options.keyfile
        handler.tls_control_required = True
        handler.tls_data_required = True
    handler.authorizer = authorizer
    handler.auth_failed_timeout = 0
    config_logging(level=logging.INFO)
    FTPServer((options.host, options.port), handler).serve_forever()


if __name__ == "__main__":
    main()
