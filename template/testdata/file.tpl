[{{ file "testdata/fixture.txt" }}]
[{{ file "testdata/../testdata/fixture.txt" | trimSpace }}]
