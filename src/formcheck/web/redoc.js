// ReDoc for /openapi.json (/redoc), with the system fonts (no web fonts fetched).
"use strict";
Redoc.init("/openapi.json", {
  theme: { typography: { fontFamily: "system-ui, sans-serif", headings: { fontFamily: "system-ui, sans-serif" } } },
}, document.getElementById("redoc"));
