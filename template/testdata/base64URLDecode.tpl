{{ base64URLDecode "YT9iPmN-" }}
