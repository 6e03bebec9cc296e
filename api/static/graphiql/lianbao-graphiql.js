// Starts GraphiQL with the explorer plugin against this server's /graphql (HTTP for queries
// and mutations, the same URL over WebSocket for subscriptions). Adapted from strawberry's
// GraphiQL template (MIT); a file rather than an inline script so the page's
// Content-Security-Policy can forbid inline scripts. Paste {"Authorization": "Bearer <token>"}
// into the headers pane: the IDE sends it with every request (and persists it locally).
(function () {
  "use strict";

  const EXAMPLE_QUERY = `# Lianbao (联保) GraphQL API
#
# Put {"Authorization": "Bearer <token>"} in the Headers pane below
# (a development token: .venv/bin/lianbao token edu_officer), then run:
#
{
  me {
    username
    agency { name kind }
    roles { role domain }
  }
}
`;

  // Parameters in the page's URL let people share a query.
  const parameters = {};
  for (const entry of window.location.search.slice(1).split("&")) {
    const eq = entry.indexOf("=");
    if (eq >= 0) {
      parameters[decodeURIComponent(entry.slice(0, eq))] = decodeURIComponent(
        entry.slice(eq + 1),
      );
    }
  }

  function updateURL(data) {
    Object.assign(parameters, data);
    const newSearch =
      "?" +
      Object.keys(parameters)
        .filter((key) => Boolean(parameters[key]))
        .map((key) => encodeURIComponent(key) + "=" + encodeURIComponent(parameters[key]))
        .join("&");
    history.replaceState(null, null, newSearch);
  }

  const fetchURL = window.location.href.split("?")[0];

  function httpUrlToWebSocketUrl(url) {
    const parsedURL = new URL(url);
    parsedURL.protocol = parsedURL.protocol === "http:" ? "ws:" : "wss:";
    parsedURL.hash = "";
    return parsedURL.toString();
  }

  const fetcher = GraphiQL.createFetcher({
    url: fetchURL,
    subscriptionUrl: httpUrlToWebSocketUrl(fetchURL),
  });

  function GraphiQLWithExplorer() {
    const [query, setQuery] = React.useState(parameters.q || EXAMPLE_QUERY);
    const [variables, setVariables] = React.useState(parameters.variables);
    const [headers, setHeaders] = React.useState(parameters.headers);
    const explorerPlugin = GraphiQLPluginExplorer.explorerPlugin();

    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      plugins: [explorerPlugin],
      query: query,
      variables: variables,
      headers: headers,
      onEditQuery: (newQuery) => {
        setQuery(newQuery);
        updateURL({ q: newQuery });
      },
      onEditVariables: (newVariables) => {
        setVariables(newVariables);
        updateURL({ variables: newVariables });
      },
      // Headers carry the token: kept in the IDE's local storage, never put in the URL.
      onEditHeaders: (newHeaders) => setHeaders(newHeaders),
      inputValueDeprecation: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
    });
  }

  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQLWithExplorer));
})();
