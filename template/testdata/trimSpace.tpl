[{{ key "app/list" | trimSpace }}] [{{ trimSpace "\t x \n" }}]
