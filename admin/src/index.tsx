import { Route, Router } from "@solidjs/router";
import { render } from "solid-js/web";
import { Layout } from "./components/Layout.tsx";
import { PAGES } from "./routes.ts";
import "./styles.css";

render(
  () => (
    <Router base="/admin" root={Layout}>
      {PAGES.map((page) => (
        <Route path={page.path} component={page.component} />
      ))}
      <Route path="*" component={() => <p class="state">This page does not exist.</p>} />
    </Router>
  ),
  document.getElementById("root")!,
);
