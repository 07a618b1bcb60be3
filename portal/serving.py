"""Serving the app with waitress, with waitress's own error answers routed through the app.

Waitress refuses a body above ``max_request_body_size`` itself (before the app runs) with a plain-text
413. :class:`_AppErrorTask` instead replays such a request to the app *without its body*, flagged with
``BODY_TOO_LARGE`` in the environ, so the answer comes from the one error mapping in :mod:`portal.errors`
(problem+json for the API, an HTML page for the web) with the usual security headers and request id.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

from waitress.channel import HTTPChannel
from waitress.task import ErrorTask

BODY_TOO_LARGE = "citygov.body_too_large"
_FORWARDED_HEADERS = ("HOST", "ACCEPT", "ACCEPT_LANGUAGE", "COOKIE", "USER_AGENT", "X_REQUEST_ID",
                      "X_FORWARDED_FOR", "X_FORWARDED_PROTO")


class _AppErrorTask(ErrorTask):
    def execute(self):
        req = self.request
        error = getattr(req, "error", None)
        if getattr(error, "code", None) != 413 or not getattr(req, "path", None):
            return super().execute()
        from werkzeug.test import EnvironBuilder, run_wsgi_app

        headers = {name.replace("_", "-").title(): req.headers[name]
                   for name in _FORWARDED_HEADERS if name in req.headers}
        builder = EnvironBuilder(path=req.path, method=req.command or "GET", query_string=req.query or "",
                                 headers=headers, environ_overrides={
                                     BODY_TOO_LARGE: True,
                                     "REMOTE_ADDR": str(self.channel.addr[0]) if self.channel.addr else "",
                                     "wsgi.url_scheme": self.channel.server.adj.url_scheme or "http"})
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        app_iter, status, response_headers = run_wsgi_app(self.channel.server.application, environ, buffered=True)
        try:
            body = b"".join(app_iter)
        finally:
            if hasattr(app_iter, "close"):
                app_iter.close()
        self.status = status
        self.response_headers.extend((k, v) for k, v in response_headers.items()
                                     if k.lower() not in ("content-length", "connection"))
        self.set_close_on_finish()  # the unread body is still on the wire
        self.content_length = len(body)
        self.write(body)


class _Channel(HTTPChannel):
    error_task_class = _AppErrorTask


def create_server(app, *, host: str = "127.0.0.1", port: int = 8000, threads: int = 4, **kw):
    """A waitress server for ``app`` whose body-size refusals are answered by the app. ``port=0`` picks a
    free port (``server.effective_port``); ``sockets=[…]`` serves sockets already listening instead."""
    from waitress.server import create_server as waitress_create

    limit = int(app.config["MAX_CONTENT_LENGTH"])
    # waitress warns "Task queue depth is N" for every request that waits for a thread: under load, a line per
    # request (and the cost of writing it); a busy server shows in the latency figures, not in this log
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    where = {} if kw.get("sockets") else {"host": host, "port": port}
    server = waitress_create(app, threads=threads, ident="citygov", max_request_body_size=limit, **where, **kw)
    for srv in [server, *getattr(server, "map", {}).values()]:
        if hasattr(srv, "channel_class"):
            srv.channel_class = _Channel
    return server


#: the GIL switch interval of a process serving with one or two request threads (CPython's default: 5 ms)
SHORT_SWITCH_INTERVAL = 0.0005


def serve(app, **kw) -> None:
    tune_gil(int(kw.get("threads", 4)))
    server = create_server(app, **kw)
    freeze_heap()
    server.run()


def freeze_heap() -> None:
    """Move everything loaded so far (modules, the app, the warmed-up indexes: ~155,000 objects at 100,000
    projects) out of the cyclic garbage collector's sight. A full collection otherwise walks all of it — 44 ms
    during which the process answers nothing — though none of it is garbage; frozen, a collection walks only
    what requests allocated. Forked workers also stop writing the collector's bookkeeping into pages they
    share with the supervisor."""
    import gc

    gc.collect()
    gc.freeze()


def tune_gil(threads: int) -> None:
    """With one or two request threads, switch the GIL every 0.5 ms instead of every 5 ms.

    With one, the only other thread that needs the GIL is waitress's I/O loop, which takes it briefly several
    times a request (read, hand over, write); at 5 ms it waits behind each computing request, and every request
    waits for it. With two, a cheap read that arrives while the other thread computes (a similarity ranking,
    a submission) gets the GIL back within 0.5 ms instead of 5. Measured at 200 req/s with the writes (four
    workers, 100,000 projects; README, Load): one thread, alternating A/B, reads p99 177–188 against 194–269
    ms; two threads, one run each, plain reads p99 17–29 against 23–39 ms. With four threads the short
    interval made every request dearer (5.2 ms of CPU against 4.6), so many threads keep CPython's default."""
    if threads <= 2:
        sys.setswitchinterval(SHORT_SWITCH_INTERVAL)


log = logging.getLogger("citygov.serving")

#: a worker whose start raises this soon after the fork is not started again and again: the supervisor gives up
_CRASH_LOOP_SECONDS = 5.0
#: the index of the background process among the supervised ones
BACKGROUND = -1


def _name(i: int) -> str:
    return "the background process" if i == BACKGROUND else f"worker {i}"


def _socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # what waitress sets on the sockets it makes itself (``socket_options``) but not on the ones it is handed:
    # a response is never held back waiting for the client's ACK of its previous piece (Nagle's algorithm)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _listen(sock: socket.socket) -> socket.socket:
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _exit_with_supervisor(supervisor: int, every: float = 1.0) -> None:
    """End this worker when its supervisor is gone (killed outright, it cannot stop its workers, and a worker
    left behind would keep serving the port with the old code)."""
    import threading

    def watch() -> None:
        while os.getppid() == supervisor:
            time.sleep(every)
        log.warning("the supervisor %d is gone; worker %d stops", supervisor, os.getpid())
        os._exit(0)

    threading.Thread(target=watch, name="citygov-supervisor-watch", daemon=True).start()


#: how much lower the background process runs than the workers that answer requests (``nice``)
BACKGROUND_NICENESS = 10


def serve_workers(app, *, host: str, port: int, threads: int, workers: int,
                  on_start: Callable[[int], None] | None = None,
                  background: Callable[[], None] | None = None) -> int:
    """Serve with ``workers`` processes forked from this one, each running waitress with ``threads`` threads on
    one port, supervised here: a worker that dies is started again, SIGTERM / SIGINT stop them all. Where the
    system has ``SO_REUSEPORT`` (Linux, the BSDs) each worker listens on a socket of its own and the kernel
    spreads new connections evenly over them (with one shared socket, whichever worker wakes first takes the
    connection, and a client's kept-alive connections pile up on one worker); elsewhere they share one socket.
    One process runs Python on one core at a time (the GIL), so a machine's cores serve in parallel only
    through processes. ``on_start(i)`` runs in worker ``i`` after the fork, before it listens (warm-up).
    ``background()``, when given, runs in one more supervised process that listens to nothing, at a lower CPU
    priority (:data:`BACKGROUND_NICENESS`): the jobs and the queued EVE pushes, whose CPU then never delays a
    request on a busy machine. Returns the exit status.

    What a worker keeps in memory is either read through the database on every request or invalidated by a
    counter in it (the similarity index, :mod:`registry.indexstore`), so the workers always agree. The caller
    closes its pooled database connections before, and ``on_start`` drops the inherited pool in each worker."""
    if not hasattr(os, "fork"):
        raise RuntimeError("several worker processes need a POSIX system (fork); use --workers 1")
    reuse_port = hasattr(socket, "SO_REUSEPORT")
    # The supervisor's socket holds the port. It is bound first without SO_REUSEPORT, so a port already served
    # (by another instance too) is refused here, never shared; with SO_REUSEPORT it then never listens, so no
    # connection waits on it.
    sock = _socket(host, port, reuse_port=False)
    if reuse_port:
        sock.close()
        sock = _socket(host, port, reuse_port=True)
    else:
        _listen(sock)
    children: dict[int, tuple[int, float]] = {}  # pid -> (worker index, started)
    stopping = False
    supervisor = os.getpid()

    def start(i: int) -> None:  # i == BACKGROUND: the background process
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                _exit_with_supervisor(supervisor)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor stops us on Ctrl-C
                if i == BACKGROUND:
                    sock.close()
                    os.nice(BACKGROUND_NICENESS)
                    background()
                else:
                    if on_start is not None:
                        on_start(i)
                    own = _listen(_socket(host, port, reuse_port=True)) if reuse_port else sock
                    serve(app, sockets=[own], threads=threads)
            except BaseException:  # noqa: BLE001 - report, then leave without running the parent's exit handlers
                import traceback

                print(f"citygov serve: {_name(i)} failed", file=sys.stderr)  # written now: os._exit drains no log queue
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children[pid] = (i, time.monotonic())

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for i in range(workers):
            start(i)
        if background is not None:
            start(BACKGROUND)
        status = 0
        while children:
            try:
                pid, wait_status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            if pid not in children:
                continue
            i, started = children.pop(pid)
            if stopping:
                continue
            code = os.waitstatus_to_exitcode(wait_status)
            if code == 1 and time.monotonic() - started < _CRASH_LOOP_SECONDS:
                log.error("%s failed right after starting; stopping", _name(i))
                status = 1
                stop(signal.SIGTERM, None)
                continue
            log.warning("%s exited with %s; starting it again", _name(i), code)
            time.sleep(0.2)
            start(i)
        return status
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        sock.close()
