// Starts the vendored GraphiQL against this server. The bearer token goes in the Headers tab;
// when the scorecard page of this tab is signed in, its token is filled in.
(function () {
  var token = sessionStorage.getItem("pcs.token");
  var headers = JSON.stringify({ Authorization: "Bearer " + (token || "<token>") }, null, 2);
  var fetcher = GraphiQL.createFetcher({ url: window.location.origin + "/graphql" });
  var example = "# The partner token reads its own partner; the admin token reads every partner.\n" +
    "{\n  viewer { admin partnerId }\n  months\n}\n";
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: example,
      defaultHeaders: headers,
      headers: headers,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: "headers",
    }),
  );
})();
