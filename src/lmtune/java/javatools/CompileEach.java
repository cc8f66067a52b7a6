import java.io.File;
import java.io.StringWriter;
import java.util.List;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * Compiles each source file given on the command line on its own, in one JVM, and
 * prints one tab-separated line per file: path, "ok" or "error", and the first
 * diagnostic on one line. Run with the JDK's source launcher:
 *   java CompileEach.java OUT_DIR A.java B.java ...
 */
public class CompileEach {
    public static void main(String[] args) {
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        if (compiler == null) {
            System.err.println("no Java compiler in this runtime: a JDK is needed, not a JRE");
            System.exit(2);
        }
        String outDir = args[0];
        for (int i = 1; i < args.length; i++) {
            StringWriter diagnostics = new StringWriter();
            int status = compiler.run(null, null, new java.io.OutputStream() {
                public void write(int b) {
                    diagnostics.write(b);
                }
            }, "-d", outDir, "-nowarn", "-Xlint:none", args[i]);
            String first = diagnostics.toString().strip().split("\n")[0].replace('\t', ' ');
            System.out.println(args[i] + "\t" + (status == 0 ? "ok" : "error") + "\t" + (status == 0 ? "" : first));
        }
    }
}
