/// The OpenAPI 3.1 description of the management API, served at `/api/ntrip/openapi.json`.
enum OpenAPIDocument {
    static let json = """
        {
          "openapi": "3.1.0",
          "info": {"title": "moq-relay NTRIP management", "version": "1.0.0"},
          "security": [{"bearer": []}, {"basic": []}],
          "components": {
            "securitySchemes": {
              "bearer": {"type": "http", "scheme": "bearer", "description": "the admin token"},
              "basic": {"type": "http", "scheme": "basic", "description": "any user name, the admin token as password"}
            },
            "schemas": {
              "Streampoint": {"type": "object", "properties": {
                "mount": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,100}$"},
                "str": {"type": ["string", "null"], "description": "STR fields from field 3 on"},
                "live": {"type": "boolean", "readOnly": true}}},
              "StreampointInput": {"type": "object", "required": ["mount", "sourcePassword"], "properties": {
                "mount": {"type": "string"}, "sourcePassword": {"type": "string", "writeOnly": true},
                "str": {"type": ["string", "null"]}}},
              "User": {"type": "object", "properties": {
                "name": {"type": "string"}, "mounts": {"type": ["array", "null"], "items": {"type": "string"},
                "description": "allowed mounts; null: all"}}},
              "UserInput": {"type": "object", "required": ["name", "password"], "properties": {
                "name": {"type": "string"}, "password": {"type": "string", "writeOnly": true},
                "mounts": {"type": ["array", "null"], "items": {"type": "string"}}}},
              "Status": {"type": "object", "description": "per mount: source (address, uptime, bytes in, rate) and clients (user, address, version, last GGA)"}
            }
          },
          "paths": {
            "/api/ntrip/status": {"get": {"summary": "live sources and clients",
              "responses": {"200": {"description": "status", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}}, "401": {"description": "no admin credentials"}}}},
            "/api/ntrip/streampoints": {
              "get": {"summary": "list streampoints", "responses": {"200": {"description": "streampoints"}, "401": {"description": "unauthorized"}}},
              "post": {"summary": "create a streampoint", "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StreampointInput"}}}},
                "responses": {"201": {"description": "created"}, "409": {"description": "exists"}, "422": {"description": "invalid body"}, "503": {"description": "store unavailable"}, "401": {"description": "unauthorized"}}}},
            "/api/ntrip/streampoints/{mount}": {
              "parameters": [{"name": "mount", "in": "path", "required": true, "schema": {"type": "string"}}],
              "get": {"summary": "one streampoint", "responses": {"200": {"description": "found"}, "404": {"description": "unknown"}}},
              "put": {"summary": "change source password or STR", "responses": {"200": {"description": "changed"}, "404": {"description": "unknown"}, "422": {"description": "invalid body"}, "503": {"description": "store unavailable"}}},
              "delete": {"summary": "delete", "responses": {"204": {"description": "deleted"}, "404": {"description": "unknown"}}}},
            "/api/ntrip/users": {
              "get": {"summary": "list users (never their passwords)", "responses": {"200": {"description": "users"}}},
              "post": {"summary": "create a user", "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserInput"}}}},
                "responses": {"201": {"description": "created"}, "409": {"description": "exists"}, "422": {"description": "invalid body"}, "503": {"description": "store unavailable"}}}},
            "/api/ntrip/users/{name}": {
              "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
              "get": {"summary": "one user", "responses": {"200": {"description": "found"}, "404": {"description": "unknown"}}},
              "put": {"summary": "change password or allowed mounts", "responses": {"200": {"description": "changed"}, "404": {"description": "unknown"}, "422": {"description": "invalid body"}, "503": {"description": "store unavailable"}}},
              "delete": {"summary": "delete", "responses": {"204": {"description": "deleted"}, "404": {"description": "unknown"}}}}
          }
        }

        """
}
