import com.sun.source.tree.ClassTree;
import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.Tree;
import com.sun.source.util.JavacTask;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

/**
 * Compiles each source file given on the command line on its own, into a folder of its
 * own, in one JVM, and prints one tab-separated line per file: path, a status and the
 * first diagnostic on one line. Run with the JDK's source launcher:
 *   java CompileEach.java OUT_DIR A.java B.java ...
 * A.java's classes go to OUT_DIR/A/. A file must declare exactly one top-level class,
 * named after the file: one that declares more (a generation that closes its wrapper
 * class and writes classes of its own, plainly or through unicode escapes, which the
 * compiler's parser has already read) is not compiled, status "foreign". Otherwise
 * "ok" or "error". Nothing but the file itself is on the class path or the source path,
 * and annotation processing is off: a file can reach no other file's classes.
 */
public class CompileEach {
    public static void main(String[] args) throws Exception {
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        if (compiler == null) {
            System.err.println("no Java compiler in this runtime: a JDK is needed, not a JRE");
            System.exit(2);
        }
        File outRoot = new File(args[0]);
        File empty = new File(outRoot, ".empty");
        empty.mkdirs();
        StandardJavaFileManager files = compiler.getStandardFileManager(null, null, StandardCharsets.UTF_8);
        for (int i = 1; i < args.length; i++) {
            File source = new File(args[i]);
            String name = source.getName().replaceFirst("\\.java$", "");
            File out = new File(outRoot, name);
            out.mkdirs();
            DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
            List<String> options = List.of("-d", out.getPath(), "-nowarn", "-Xlint:none", "-proc:none", "-implicit:none",
                    "-encoding", "UTF-8", "-classpath", empty.getPath(), "-sourcepath", empty.getPath());
            Iterable<? extends JavaFileObject> units = files.getJavaFileObjects(source);
            JavacTask task = (JavacTask) compiler.getTask(null, files, diagnostics, options, null, units);
            String status = "ok", message = "";
            try {
                List<String> foreign = new ArrayList<>();
                for (CompilationUnitTree unit : task.parse()) {
                    for (Tree declaration : unit.getTypeDecls()) {
                        if (declaration instanceof ClassTree type && !type.getSimpleName().contentEquals(name)) {
                            foreign.add(type.getSimpleName().toString());
                        }
                    }
                }
                String error = firstError(diagnostics, source);
                if (error == null && !foreign.isEmpty()) {
                    status = "foreign";
                    message = "declares classes besides " + name + ": " + String.join(", ", foreign);
                } else {
                    if (error == null) {
                        task.generate();
                        error = firstError(diagnostics, source);
                    }
                    if (error != null) {
                        status = "error";
                        message = error;
                    }
                }
            } catch (Throwable e) {
                status = "error";
                message = e.toString();
            }
            System.out.println(args[i] + "\t" + status + "\t" + message.replace('\t', ' '));
        }
    }

    /** The first error as javac prints it ("A.java:3: error: ..."), or null. */
    static String firstError(DiagnosticCollector<JavaFileObject> diagnostics, File source) {
        for (Diagnostic<? extends JavaFileObject> diagnostic : diagnostics.getDiagnostics()) {
            if (diagnostic.getKind() == Diagnostic.Kind.ERROR) {
                return source.getName() + ":" + diagnostic.getLineNumber() + ": error: "
                        + diagnostic.getMessage(null).split("\n")[0];
            }
        }
        return null;
    }
}
