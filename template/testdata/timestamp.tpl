{{ timestamp | len }} {{ timestamp "unix" | len }} {{ timestamp "2006" | len }}
