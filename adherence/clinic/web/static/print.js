// The patient page's Print button. Without scripts the button stays
// hidden and the browser's own Print prints the same page (the print
// style sheet drops navigation and forms and opens the tables).
for (const b of document.querySelectorAll("button.print")) {
  b.hidden = false;
  b.addEventListener("click", () => window.print());
}
