/* Names what the theme's script adds to a page, for screen readers. It runs
   with the theme's script, on the reader's first interaction
   (docs/_overrides/main.html).

   - Each code block's copy button sits in a <nav>. Several unnamed
     navigation landmarks on one page are indistinguishable to screen-reader
     users, so each is named after its block.
   - A code annotation is a link that shows only a number drawn by CSS, so
     each is named after its number. */
(function () {
  function nameAnnotations() {
    document
      .querySelectorAll(".md-annotation__index:not([aria-label])")
      .forEach(function (link) {
        var marker = link.querySelector("[data-md-annotation-id]");
        var number = marker
          ? marker.getAttribute("data-md-annotation-id")
          : "";
        link.setAttribute("aria-label", ("Annotation " + number).trim());
      });
  }
  function nameCodeNavs() {
    nameAnnotations();
    document
      .querySelectorAll(".md-code__nav:not([aria-label])")
      .forEach(function (nav) {
        var pre = nav.closest("pre");
        var number =
          pre && pre.id ? Number(pre.id.replace(/\D/g, "")) + 1 : "";
        nav.setAttribute(
          "aria-label",
          ("Code block " + number + " actions").replace("  ", " ")
        );
      });
  }
  new MutationObserver(nameCodeNavs).observe(document.body, {
    childList: true,
    subtree: true,
  });
  nameCodeNavs();
})();
