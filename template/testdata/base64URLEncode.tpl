{{ base64URLEncode "a?b>c~" }}
