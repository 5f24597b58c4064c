"""The import graph has no arrow running back up: base <- core <- sources <- pipeline <- sinks <- apps."""


from import_graph import LAYERS, edges, layer_of, upward


def test_no_module_imports_a_layer_above_its_own():
    assert upward(edges()) == []


def test_the_check_sees_lazy_imports_and_unplaced_modules(tmp_path):
    """An import inside a function is a dependency too; a module in no layer is reported."""
    from import_graph import imports

    src = tmp_path / "m.py"
    src.write_text("def f():\n    from imurun.live.app import LiveRun\n    import imurun.core.engine\n")
    assert imports(src) == {"imurun.live.app", "imurun.core.engine"}
    assert upward([("imurun.ble.source", "imurun.live.app")]) == [
        "imurun.ble.source (sources) imports imurun.live.app (apps)"]
    unplaced = upward([("imurun.newthing", "imurun.errors")])
    assert unplaced == ["imurun.newthing: in no layer (add it to LAYERS)"]
    assert layer_of("imurun") == "base" and layer_of("imurun.ble.decoders.base") == "sources"
    assert [name for name, _ in LAYERS] == ["base", "core", "sources", "pipeline", "sinks", "apps"]
