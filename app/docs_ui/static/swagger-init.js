// Starts Swagger UI on /docs. A file of its own, not an inline script, so the page's
// Content-Security-Policy can say `script-src 'self'`. The document's URL comes from the
// page (data-openapi-url), so a path prefix set by a proxy (root_path) is honoured.
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    validatorUrl: null, // no badge from the online validator: nothing leaves this origin
  });
})();
