{{ sha256Hex "hopscotch" }}
