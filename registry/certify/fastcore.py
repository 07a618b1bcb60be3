"""openapi-core's request / response validators with everything derived from the document memoised.

openapi-core 0.23 re-reads the document through ``jsonschema_path.SchemaPath`` on every request (each
``/`` and read resolves ``$ref``s lazily and checks runtime protocols), builds style deserialisers,
casters and media-type deserialisers per value, and looks the response up by status each time: that is
where >90 % of the time of a HAR entry goes. The document is immutable, so :class:`FastValidatorMixin`
keeps openapi-core's own control flow and exceptions — the methods below are line-for-line ports of
``openapi_core.validation`` 0.23 — but reads each document node once (per operation, parameter,
response, media type) and keeps the deserialisers, casters and jsonschema validators it built.

Bodies are additionally memoised on their *exact bytes*: ``(content location, mimetype, raw bytes)``
determines the deserialised value and the schema errors (deserialisation and validation are pure
functions of them), so a repeated body reuses the outcome — a successful one, or the schema errors from
which a fresh ``InvalidSchemaValue`` is raised. Deserialisation failures are never memoised.

``tests/certify/test_fastcore.py`` proves the findings equal those of the unmemoised openapi-core
validators on the HAR fixtures and on generated valid and broken traffic for several APIs.guru specs.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from typing import Any

from openapi_core.casting.schemas.casters import SchemaCaster
from openapi_core.casting.schemas.exceptions import CastError
from openapi_core.deserializing.styles.exceptions import EmptyQueryParameterValue
from openapi_core.schema.parameters import get_style_and_explode
from openapi_core.security.exceptions import SecurityProviderError
from openapi_core.security.providers import ApiKeyProvider, HttpProvider
from openapi_core.templating.security.exceptions import SecurityNotFound
from openapi_core.validation.decorators import ValidationErrorWrapper
from openapi_core.validation.request.exceptions import (
    InvalidParameter,
    InvalidRequestBody,
    InvalidSecurity,
    MissingParameter,
    MissingRequestBody,
    MissingRequiredParameter,
    MissingRequiredRequestBody,
    ParametersError,
    ParameterValidationError,
    RequestBodyValidationError,
    SecurityValidationError,
)
from openapi_core.validation.response.exceptions import (
    DataValidationError,
    HeaderValidationError,
    InvalidData,
    InvalidHeader,
    MissingHeader,
    MissingRequiredHeader,
)
from openapi_core.exceptions import OpenAPIError
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue, ValidateError

BODY_MEMO = True  # module switch (benchmarks and the differential test turn it off)
BODY_MEMO_MAX_ENTRIES = 4096
BODY_MEMO_MAX_BYTES = 256 * 1024  # bodies above this are not memoised
_MISSING = object()


BODY_MEMO_BUDGET_BYTES = 32 * 1024 * 1024  # raw body bytes held per validator (LRU)


class _BodyMemo:
    def __init__(self) -> None:
        self.data: OrderedDict = OrderedDict()
        self.lock = threading.Lock()
        self.bytes = 0

    def get(self, key):
        with self.lock:
            hit = self.data.get(key)
            if hit is not None:
                self.data.move_to_end(key)
            return hit

    def put(self, key, value) -> None:
        with self.lock:
            if key in self.data:
                return
            self.data[key] = value
            self.bytes += len(key[2])
            while len(self.data) > BODY_MEMO_MAX_ENTRIES or self.bytes > BODY_MEMO_BUDGET_BYTES:
                old, _ = self.data.popitem(last=False)
                self.bytes -= len(old[2])


class _PlannedCaster:
    """``SchemaCaster.cast`` of a parameter's top-level schema with its ``nullable`` and ``type`` read once and
    its (stateless) type caster built once; nested casts go through openapi-core's own caster."""

    def __init__(self, inner: SchemaCaster):
        self.inner = inner
        self.schema = inner.schema
        self.nullable = (inner.schema / "nullable").read_bool(default=False)
        try:
            self.schema_type = (inner.schema / "type").read_str(None)
            self.type_caster = inner.get_type_caster(self.schema_type)
        except Exception:  # noqa: BLE001 - odd schemas: openapi-core's own cast (and its error) every time
            self.type_caster = None

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def cast(self, value: Any) -> Any:
        if self.type_caster is None:
            return self.inner.cast(value)
        if value is None and self.nullable:
            return value
        if value is None:
            return value
        try:
            return self.type_caster(value)
        except (ValueError, TypeError) as exc:
            raise CastError(value, self.schema_type) from exc


class _ParamPlan:
    __slots__ = ("param", "name", "location", "deprecated", "required", "has_content", "allow_empty", "schema",
                 "deserializer", "has_default", "default", "location_name", "pname")


class FastValidatorMixin:
    """Mixed into openapi-core's V30/V31 request and response validators (see the module docstring)."""

    def _fc(self) -> dict:
        c = self.__dict__.get("_citygov_cache")
        if c is None:
            c = self.__dict__.setdefault("_citygov_cache", {"lock": threading.Lock(), "memo": _BodyMemo()})
        return c

    def _cached(self, kind: str, key, build):
        c = self._fc()
        k = (kind, key)
        hit = c.get(k, _MISSING)
        if hit is _MISSING:
            hit = build()
            with c["lock"]:
                c.setdefault(k, hit)
        return hit

    # -------------------------------------------------------------------------------- parameters, headers

    def _param_plan(self, param, name=None) -> _ParamPlan:
        def build():
            p = _ParamPlan()
            p.param = param
            p.has_content = "content" in param
            p.location_name = (param / "in").read_str("header")
            p.pname = (param / "name").read_str() if "name" in param else None
            p.name = name or p.pname
            p.deprecated = (param / "deprecated").read_bool(default=False)
            p.required = (param / "required").read_bool(default=False)
            p.allow_empty = p.schema = p.deserializer = p.default = None
            p.has_default = False
            if not p.has_content:
                p.allow_empty = (param / "allowEmptyValue").read_bool(default=None)
                p.schema = param / "schema"
                style, explode = get_style_and_explode(param)
                p.deserializer = self.style_deserializers_factory.create(self.spec, p.schema, style, explode,
                                                                         name=p.name)
                if type(p.deserializer.caster) is SchemaCaster:
                    p.deserializer.caster = _PlannedCaster(p.deserializer.caster)
                p.has_default = "default" in p.schema
                if p.has_default:
                    p.default = (p.schema / "default").read_value()
            return p

        return self._cached("param", (tuple(param.parts), name), build)

    def _get_param_or_header_and_schema(self, param_or_header, location, name=None, p=None):
        p = p or self._param_plan(param_or_header, name)
        if p.has_content:
            casted, schema = self._get_complex_param_or_header(param_or_header, location, name=name)
        else:
            if p.allow_empty:
                warnings.warn("Use of allowEmptyValue property is deprecated", DeprecationWarning)
            schema = p.schema
            try:
                casted = p.deserializer.deserialize(location)
            except KeyError:
                if not p.has_default:
                    raise
                casted = p.default
            else:
                if p.allow_empty is not None:
                    warnings.warn("Use of allowEmptyValue property is deprecated", DeprecationWarning)
                if p.allow_empty is None or not p.allow_empty:
                    if p.location_name == "query" and casted == "" and not p.allow_empty:
                        raise EmptyQueryParameterValue(p.pname)
        if schema is None:
            return casted, None
        self._validate_schema(schema, casted)
        return casted, schema

    def _validate_schema(self, schema, value) -> None:
        validator = self._cached("validator", tuple(schema.parts), lambda: self.schema_validators_factory.create(
            self.spec, schema, format_validators=self.format_validators,
            extra_format_validators=self.extra_format_validators,
            forbid_unspecified_additional_properties=self.forbid_unspecified_additional_properties,
            enforce_properties_required=self.enforce_properties_required))
        validator.validate(value)

    # ----------------------------------------------------------------------------------- media types

    def _media_plan(self, content, mimetype):
        def build():
            mime_type, parameters, media_type = self._find_media_type(content, mimetype)
            schema = media_type.get("schema")
            encoding = media_type.get("encoding") if "encoding" in media_type else None
            schema_validator = None
            if schema is not None:
                schema_validator = self.schema_validators_factory.create(
                    self.spec, schema, format_validators=self.format_validators,
                    extra_format_validators=self.extra_format_validators,
                    forbid_unspecified_additional_properties=self.forbid_unspecified_additional_properties,
                    enforce_properties_required=self.enforce_properties_required)
            deserializer = self.media_type_deserializers_factory.create(
                self.spec, mime_type, schema=schema, schema_validator=schema_validator, parameters=parameters,
                encoding=encoding, extra_media_type_deserializers=self.extra_media_type_deserializers)
            return deserializer, (media_type / "schema" if "schema" in media_type else None)

        key = (tuple(content.parts), mimetype)
        c = self._fc()
        hit = c.get(("media", key), _MISSING)
        if hit is _MISSING:
            hit = build()  # MediaTypeNotFound propagates (and is not cached)
            with c["lock"]:
                c.setdefault(("media", key), hit)
        return hit

    def _get_content_schema_value_and_schema(self, raw, content, mimetype=None):
        deserializer, schema = self._media_plan(content, mimetype)
        return deserializer.deserialize(raw), schema

    def _get_content_and_schema(self, raw, content, mimetype=None):
        memo = BODY_MEMO and isinstance(raw, bytes) and len(raw) <= BODY_MEMO_MAX_BYTES
        if memo:
            key = (tuple(content.parts), mimetype, raw)
            store = self._fc()["memo"]
            hit = store.get(key)
            if hit is not None:
                if hit[0] == "ok":
                    return hit[1], hit[2]
                raise InvalidSchemaValue(hit[1], hit[2], schema_errors=hit[3])
        deserialised, schema = self._get_content_schema_value_and_schema(raw, content, mimetype)
        if schema is None:
            if memo:
                store.put(key, ("ok", deserialised, None))
            return deserialised, None
        try:
            self._validate_schema(schema, deserialised)
        except InvalidSchemaValue as exc:
            if memo:
                store.put(key, ("invalid", exc.value, exc.type, exc.schema_errors))
            raise
        if memo:
            store.put(key, ("ok", deserialised, schema))
        return deserialised, schema


class FastRequestMixin(FastValidatorMixin):
    def _params_of(self, operation, path):
        def build():
            from jsonschema_path import SchemaPath
            from openapi_core.util import chainiters

            out, seen = [], set()
            for param in chainiters(operation.get("parameters", SchemaPath.from_dict({})),
                                    path.get("parameters", SchemaPath.from_dict({}))):
                key = ((param / "name").read_str(), (param / "in").read_str())
                if key in seen:
                    continue
                seen.add(key)
                out.append((param, self._param_plan(param)))
            return tuple(out)

        return self._cached("params", (tuple(operation.parts), tuple(path.parts)), build)

    def _get_parameters(self, parameters, operation, path):
        from openapi_core.datatypes import Parameters

        errors = []
        validated = Parameters()
        for param, p in self._params_of(operation, path):
            try:
                value = self._get_parameter(parameters, param, p)
            except MissingParameter:
                continue
            except ParameterValidationError as exc:
                errors.append(exc)
                continue
            else:
                getattr(validated, p.location_name)[p.pname] = value
        if errors:
            raise ParametersError(errors=errors, parameters=validated)
        return validated

    def _get_parameter(self, parameters, param, p=None):
        # ValidationErrorWrapper(ParameterValidationError, InvalidParameter, "from_spec", spec="param"),
        # inlined: ``from_spec`` reads name and location, which the plan holds already
        p = p or self._param_plan(param)
        try:
            return self._get_parameter_value(parameters, param, p)
        except ValidateError as exc:
            if isinstance(exc, ParameterValidationError):
                raise
            raise InvalidParameter(p.pname, p.location_name) from exc
        except OpenAPIError as exc:
            if isinstance(exc, ParameterValidationError):
                raise
            raise ParameterValidationError(p.pname, p.location_name) from exc

    def _get_parameter_value(self, parameters, param, p):
        location = parameters[p.location_name]
        if p.deprecated and p.pname in location:
            warnings.warn(f"{p.pname} parameter is deprecated", DeprecationWarning)
        try:
            value, _ = self._get_param_or_header_and_schema(param, location, None, p)
        except KeyError:
            if p.required:
                raise MissingRequiredParameter(p.pname, p.location_name)
            raise MissingParameter(p.pname, p.location_name)
        return value

    def _security_plan(self, operation):
        def build():
            security = None
            if "security" in self.spec:
                security = self.spec / "security"
            if "security" in operation:
                security = operation / "security"
            if not security:
                return None
            reqs = []
            schemes = self.spec / "components#securitySchemes"
            for requirement in security:
                names = list(requirement.str_keys())
                checks = []
                for name in names:
                    if name not in schemes:
                        checks.append((name, None))
                        continue
                    provider = self.security_provider_factory.create(schemes[name])
                    if type(provider) is ApiKeyProvider:
                        checks.append((name, ("apiKey", (provider.scheme / "name").read_str(),
                                              (provider.scheme / "in").read_str())))
                    elif type(provider) is HttpProvider:
                        checks.append((name, ("http", provider.scheme["scheme"])))
                    else:
                        checks.append((name, ("provider", provider)))
                reqs.append((names, checks))
            return reqs

        return self._cached("security", tuple(operation.parts), build)

    @staticmethod
    def _security_value(parameters, check):
        if check is None:
            return None
        if check[0] == "apiKey":  # ApiKeyProvider.__call__
            source = getattr(parameters, check[2])
            if check[1] not in source:
                raise SecurityProviderError("Missing api key parameter.")
            return source[check[1]]
        if check[0] == "http":  # HttpProvider.__call__
            if "Authorization" not in parameters.header:
                raise SecurityProviderError("Missing authorization header.")
            auth_header = parameters.header["Authorization"]
            try:
                auth_type, encoded_credentials = auth_header.split(" ", 1)
            except ValueError:
                raise SecurityProviderError("Could not parse authorization header.") from None
            if auth_type.lower() != check[1]:
                raise SecurityProviderError(f"Unknown authorization method {auth_type}")
            return encoded_credentials
        return check[1](parameters)

    @ValidationErrorWrapper(SecurityValidationError, InvalidSecurity)
    def _get_security(self, parameters, operation):
        plan = self._security_plan(operation)
        if not plan:
            return {}
        schemes = []
        for names, checks in plan:
            try:
                schemes.append(names)
                return {name: self._security_value(parameters, check) for name, check in checks}
            except SecurityProviderError:
                continue
        raise SecurityNotFound(schemes)

    @ValidationErrorWrapper(RequestBodyValidationError, InvalidRequestBody)
    def _get_body(self, body, mimetype, operation):
        def build():
            if "requestBody" not in operation:
                return None
            request_body = operation / "requestBody"
            return request_body / "content", (request_body / "required").read_bool(default=False)

        plan = self._cached("body", tuple(operation.parts), build)
        if plan is None:
            return None
        content, required = plan
        if not body:
            if required:
                raise MissingRequiredRequestBody
            raise MissingRequestBody
        value, _ = self._get_content_and_schema(body, content, mimetype)
        return value


class FastResponseMixin(FastValidatorMixin):
    def _find_operation_response(self, status_code, operation):
        key = (tuple(operation.parts), status_code)
        c = self._fc()
        hit = c.get(("response", key))
        if hit is None:
            hit = super()._find_operation_response(status_code, operation)  # ResponseNotFound is not cached
            with c["lock"]:
                c.setdefault(("response", key), hit)
        return hit

    def _response_plan(self, operation_response):
        def build():
            content = operation_response / "content" if "content" in operation_response else None
            headers = None
            if "headers" in operation_response:
                headers = tuple((name, header) for name, header in (operation_response / "headers").str_items()
                                if name.lower() != "content-type")
            return content, headers

        return self._cached("resp", tuple(operation_response.parts), build)

    @ValidationErrorWrapper(DataValidationError, InvalidData)
    def _get_data(self, data, mimetype, operation_response):
        content, _ = self._response_plan(operation_response)
        if content is None:
            return None
        raw_data = self._get_data_value(data)
        value, _ = self._get_content_and_schema(raw_data, content, mimetype)
        return value

    def _get_headers(self, headers, operation_response):
        from openapi_core.validation.exceptions import ValidationError
        from openapi_core.validation.response.exceptions import HeadersError

        _, plan = self._response_plan(operation_response)
        if plan is None:
            return {}
        errors: list = []
        validated: dict = {}
        for name, header in plan:
            try:
                value = self._get_header(headers, name, header)
            except MissingHeader:
                continue
            except ValidationError as exc:
                errors.append(exc)
                continue
            else:
                validated[name] = value
        if errors:
            raise HeadersError(context=iter(errors), headers=validated)
        return validated

    @ValidationErrorWrapper(HeaderValidationError, InvalidHeader, name="name")
    def _get_header(self, headers, name, header):
        p = self._param_plan(header, name)
        if p.deprecated and name in headers:
            warnings.warn(f"{name} header is deprecated", DeprecationWarning)
        try:
            value, _ = self._get_param_or_header_and_schema(header, headers, name=name)
        except KeyError:
            if p.required:
                raise MissingRequiredHeader(name)
            raise MissingHeader(name)
        return value
