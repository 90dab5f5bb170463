{{ hmacSHA256Hex "message" "secret" }}
