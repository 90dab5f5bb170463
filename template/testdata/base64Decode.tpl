{{ base64Decode "aG9wc2NvdGNo" }} {{ "aG9wc2NvdGNo" | base64Decode | toUpper }}
