import json
import logging

from kernel.context import request_id_var
from portal.observability import JsonFormatter, RequestIdFilter


def test_json_log_lines_carry_request_id_and_extras():
    record = logging.LogRecord("citygov.test", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    record.status = 201
    token = request_id_var.set("rid-42")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello world" and line["request_id"] == "rid-42" and line["status"] == 201
    assert line["level"] == "info" and line["time"].endswith("Z")
